//! DEP009: Consul servers that serve the web UI while ACLs are not enabled.

use meshaudit_model::{Inventory, Location, Node, ObjectId, Step, Value, WorkloadId};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

use super::embedded::embedded_document;
use super::exposure::{describe, exposures};
use crate::rules::naming::workload_name;
use meshaudit_engine::components::Component;

pub static RULE: Rule = Rule {
    code: "DEP009",
    name: "consul-ui-without-acls",
    title: "Consul UI is served without ACLs that deny anonymous requests",
    category: Category::Dependencies,
    severity: Severity::High,
    meshes: &[Mesh::Consul],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.3",
        "PCI-DSS:7.2.1",
        "PCI-DSS:7.2.2",
        "HIPAA:164.312(a)(1)",
        "NIST-800-204A:SM-DR1",
    ],
    doc: r#"
## What it detects

Consul servers (workloads running a `hashicorp/consul` image as `agent -server`, or named
`*server*`) with the web UI on — `"ui": true` or `ui_config { enabled = true }` in a server
configuration held in a ConfigMap of their namespace (JSON, YAML or HCL), or a `-ui` flag in the
container's command or args — while no configuration in that namespace enables ACLs with a
default deny policy (`acl.enabled: true` and `acl.default_policy: deny`, as consul-k8s renders
them when `global.acls.manageSystemACLs` is on). ACLs enabled with `default_policy` left at
Consul's default, `allow`, do not count: requests without a token are still allowed. `high`; `critical`
when the servers are also published outside the cluster (a LoadBalancer/NodePort Service such as
consul-k8s' `ui.service.type: LoadBalancer`, or a Gateway route without authentication).

Helm values files are not Kubernetes objects: scan the rendered chart (`helm template`).

## Why it matters

Without ACLs every request to Consul's HTTP API is fully trusted. The UI is that API in a
browser: anyone who reaches it can read the catalog and key/value store and edit service
intentions — the rules that decide which services may call which — turning the mesh's
authorization off.

## Example

```yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: consul-server-config, namespace: consul}
data:
  server.json: |
    {"ui_config": {"enabled": true}, "acl": {"enabled": false}}
```

## Fix

Enable ACLs with a default deny policy (consul-k8s: `global.acls.manageSystemACLs: true`), or
turn the UI off where ACLs cannot be enabled; keep the UI Service on `ClusterIP`.

## References

- Consul: ACL system overview — https://developer.hashicorp.com/consul/docs/security/acl
- Consul: Agent configuration, `ui_config` and `acl` — https://developer.hashicorp.com/consul/docs/agent/config/config-files
- Consul on Kubernetes: Helm chart values (`global.acls.manageSystemACLs`, `ui.enabled`, `ui.service.type`) — https://developer.hashicorp.com/consul/docs/k8s/helm
- Consul: Security model (ACLs and the UI) — https://developer.hashicorp.com/consul/docs/security/security-models/core
- NIST SP 800-204A, SM-DR1 (default deny: Consul `acl.default_policy = "deny"`)
"#,
    check,
};

/// What a ConfigMap value says about the UI and ACLs.
#[derive(Default)]
struct Settings {
    /// The ConfigMap, where the setting is written, its data key, and a line of evidence.
    ui: Option<(ObjectId, Location, String, String)>,
    /// ACLs on with `default_policy = "deny"`: anonymous requests are refused.
    acl_deny: bool,
    /// ACLs on but `default_policy` left at Consul's default (`allow`) or set to it.
    acl_allow: bool,
}

fn truthy(n: &Node) -> bool {
    match &n.value {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn read_config_maps(inv: &Inventory, namespace: &str) -> Settings {
    let mut s = Settings::default();
    for cm in inv.config_maps.iter().filter(|c| c.namespace == namespace) {
        let object = inv.object(cm.object);
        for (key, text) in &cm.data {
            if key.ends_with(".hcl") {
                // HCL: read the two settings textually (`ui_config { enabled = true }`, `acl { enabled = true }`).
                let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                if hcl_block_enabled(&compact, "ui_config") || compact.contains("ui=true") {
                    s.ui.get_or_insert((
                        cm.object,
                        object.location_of(&[Step::Key("data"), Step::Key(key)]),
                        key.clone(),
                        format!("ConfigMap {}/{} {key}: UI enabled", cm.namespace, cm.name),
                    ));
                }
                if hcl_block_enabled(&compact, "acl") {
                    if compact.contains("default_policy=\"deny\"") {
                        s.acl_deny = true;
                    } else {
                        s.acl_allow = true;
                    }
                }
                continue;
            }
            let Some(doc) = embedded_document(object, key) else {
                continue;
            };
            let root = &doc.root;
            let ui = root.entry("ui").filter(|e| truthy(&e.value)).or_else(|| {
                root.get("ui_config")
                    .and_then(|u| u.entry("enabled"))
                    .filter(|e| truthy(&e.value))
            });
            if let Some(e) = ui {
                s.ui.get_or_insert((
                    cm.object,
                    doc.location(object, e.key_line, e.key_column),
                    key.clone(),
                    format!("ConfigMap {}/{} {key}: UI enabled", cm.namespace, cm.name),
                ));
            }
            if root
                .at(&[Step::Key("acl"), Step::Key("enabled")])
                .is_some_and(truthy)
            {
                let policy = root
                    .at(&[Step::Key("acl"), Step::Key("default_policy")])
                    .and_then(Node::as_str);
                if policy.is_some_and(|p| p.eq_ignore_ascii_case("deny")) {
                    s.acl_deny = true;
                } else {
                    s.acl_allow = true;
                }
            }
        }
    }
    s
}

/// Whether HCL text (whitespace removed) has a block `name { ... enabled = true ... }` (or
/// `name = { ... }`), whatever the order of the block's settings.
fn hcl_block_enabled(compact: &str, name: &str) -> bool {
    let mut rest = compact;
    while let Some(i) = rest.find(name) {
        let after = &rest[i + name.len()..];
        let preceded_ok = i == 0
            || !rest.as_bytes()[i - 1].is_ascii_alphanumeric() && rest.as_bytes()[i - 1] != b'_';
        let body = after.strip_prefix('{').or_else(|| after.strip_prefix("={"));
        if let (true, Some(body)) = (preceded_ok, body) {
            // The block ends at its matching brace.
            let mut depth = 1;
            let end = body
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(body.len(), |(j, _)| j);
            if body[..end].contains("enabled=true") {
                return true;
            }
        }
        rest = after;
    }
    false
}

/// The command and args of container `ci` of workload `w`, joined.
fn command_line(inv: &Inventory, w: WorkloadId, ci: usize) -> String {
    let workload = &inv.workloads[w];
    let object = inv.object(workload.object);
    let mut steps: Vec<Step<'_>> = workload
        .template_path
        .iter()
        .map(|k| Step::Key(k))
        .collect();
    steps.extend([Step::Key("spec"), Step::Key("containers"), Step::Index(ci)]);
    let mut words = Vec::new();
    if let Some(c) = object.node.at(&steps) {
        for field in ["command", "args"] {
            if let Some(items) = c.get(field).and_then(Node::as_seq) {
                words.extend(items.iter().filter_map(Node::scalar_text));
            }
        }
    }
    words.join(" ")
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let mut seen_namespaces = std::collections::BTreeSet::new();
    for inst in ctx.dependency_instances() {
        if inst.component != Component::Consul || !inst.in_template(inv) {
            continue;
        }
        let Some(Step::Index(ci)) = inst.path.get(inst.path.len().saturating_sub(2)).copied()
        else {
            continue;
        };
        let w = &inv.workloads[inst.workload];
        let cmd = command_line(inv, inst.workload, ci);
        let server = cmd
            .split_whitespace()
            .any(|t| t == "-server" || t == "--server" || t == "-server=true")
            || w.name.contains("server");
        if !server || !seen_namespaces.insert(w.namespace.clone()) {
            continue;
        }
        let settings = read_config_maps(inv, &w.namespace);
        let ui_flag = cmd
            .split_whitespace()
            .any(|t| t == "-ui" || t == "--ui" || t == "-ui=true");
        // ACL settings passed inline (`-hcl='acl { enabled = true default_policy = "deny" }'`).
        let compact_cmd: String = cmd
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\\')
            .collect();
        let acl_flag = hcl_block_enabled(&compact_cmd, "acl")
            && compact_cmd.contains("default_policy=\"deny\"");
        if settings.acl_deny || acl_flag {
            continue;
        }
        let acl_state = if settings.acl_allow {
            "ACLs are enabled with default_policy allow (Consul's default), so requests without a token are allowed"
        } else {
            "no configuration there enables ACLs"
        };
        let object_id;
        let mut f;
        if let Some((id, location, key, why)) = &settings.ui {
            object_id = *id;
            let path = [Step::Key("data"), Step::Key(key.as_str())];
            let object = inv.object(object_id);
            f = Finding::new(
                &RULE,
                object_id,
                object,
                &path,
                format!(
                    "ConfigMap {} enables the Consul UI for the servers of namespace `{}` while {acl_state}: the UI and HTTP API trust every request",
                    object.qualified_name(),
                    w.namespace
                ),
            )
            .key("ui")
            .evidence(why.clone());
            f.location = location.clone();
        } else if ui_flag {
            object_id = w.object;
            let object = inv.object(object_id);
            f = Finding::new(
                &RULE,
                object_id,
                object,
                &inst.path,
                format!(
                    "{} {} runs Consul servers with -ui in namespace `{}` while {acl_state}: the UI and HTTP API trust every request",
                    w.kind,
                    object.qualified_name(),
                    w.namespace
                ),
            )
            .key("ui")
            // Only the flag: commands can carry keys and tokens (`-encrypt=...`).
            .evidence("the container's command or args pass -ui");
        } else {
            continue;
        }
        f = f
            .evidence(format!("Consul servers: {} ({})", workload_name(&inv.workloads[inst.workload]), inst.describe()))
            .evidence(format!(
                "no ConfigMap in `{}` sets acl.enabled: true with default_policy deny, and the servers' command sets no such ACL configuration",
                w.namespace
            ))
            .remediation(
                "Enable ACLs with a default deny policy (consul-k8s: global.acls.manageSystemACLs: true), or turn the UI off; keep the UI Service ClusterIP.",
            );
        if let Some(e) = exposures(ctx, inst.workload).first() {
            f = f.evidence(format!(
                "published outside the cluster: {}",
                describe(inv, e)
            ));
            f.severity = Severity::Critical;
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::hcl_block_enabled;

    #[test]
    fn hcl_blocks_are_read_whatever_the_order() {
        let c = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        assert!(hcl_block_enabled(
            &c("acl {\n default_policy = \"deny\"\n enabled = true\n}"),
            "acl"
        ));
        assert!(hcl_block_enabled(&c("acl = { enabled = true }"), "acl"));
        assert!(!hcl_block_enabled(
            &c("acl { enabled = false }\nui_config { enabled = true }"),
            "acl"
        ));
        assert!(hcl_block_enabled(
            &c("acl { enabled = false }\nui_config { enabled = true }"),
            "ui_config"
        ));
        assert!(!hcl_block_enabled(&c("oacl { enabled = true }"), "acl"));
    }
}
