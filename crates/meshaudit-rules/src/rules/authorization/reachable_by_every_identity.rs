//! AUTHZ010: a workload has ALLOW policies, yet the effective-policy graph shows every other
//! mesh identity (and possibly plaintext) allowed on some port without condition.

use meshaudit_engine::membership::DataPlane;
use meshaudit_engine::Reach;
use meshaudit_model::istio::AuthorizationAction;
use meshaudit_model::Step;

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;
use crate::rules::naming::workload_name;

pub static RULE: Rule = Rule {
    code: "AUTHZ010",
    name: "reachable-by-every-identity",
    title: "Workload with ALLOW policies is still reachable by every identity",
    category: Category::Authorization,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio],
    compliance: &[
        "SOC2:CC6.1",
        "SOC2:CC6.3",
        "PCI-DSS:7.2.1",
        "NIST-800-204A:SM-DR1",
        "NIST-800-204B:5.2.1",
    ],
    doc: r#"
## What it detects

A meshed workload to which at least one ALLOW AuthorizationPolicy applies, with a port on which
the effective-policy graph finds that *any* meshed workload, one that no policy names, is
allowed unconditionally (every path, method and request). It is high when clients without a
sidecar (plaintext) are allowed on that port too.

The graph evaluates all policies that apply together (CUSTOM, DENY, then ALLOW, as Envoy
does), so the finding shows the combined effect, whichever policy causes it: an allow-all rule,
a wildcard principal, an ALLOW with `notNamespaces`, a rule on another port that does not
restrict ports. Workloads with no ALLOW policy at all are AUTHZ002's.

## Why it matters

The existence of ALLOW policies suggests least privilege: the owner meant to list the callers.
If some rule nevertheless lets every identity in, the workload is as open as one without
policies, and a compromised pod anywhere in the mesh can call it. The evidence names the rule
that lets the arbitrary caller through.

## Example

```yaml
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: orders
  namespace: orders
spec:
  selector:
    matchLabels:
      app: orders
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/frontend/sa/web"]
  - to:
    - operation:
        ports: ["9090"]   # metrics: no `from`, so every caller may use it
```

## Fix

Give every ALLOW rule a `from` that names its callers, and scope operations by port, path and
method. Check the result with `meshaudit graph --explain`.

```yaml
  - from:
    - source:
        principals: ["cluster.local/ns/monitoring/sa/prometheus"]
    to:
    - operation:
        ports: ["9090"]
```

## References

- Istio: Authorization policy reference (rule matching) — https://istio.io/latest/docs/reference/config/security/authorization-policy/
- Istio: Authorization concepts (policy evaluation order) — https://istio.io/latest/docs/concepts/security/#authorization-policies
- Istio: Dependency on mutual TLS — https://istio.io/latest/docs/concepts/security/#dependency-on-mutual-tls
- NIST SP 800-204A, SM-DR1; CWE-285: Improper Authorization
"#,
    check,
};

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    for (w, node) in ctx.graph().workloads_with_ids() {
        if !matches!(
            node.istio_data_plane(),
            DataPlane::Sidecar | DataPlane::Ambient
        ) {
            continue;
        }
        let has_allow = node.authorization_policies.iter().any(|&p| {
            inv.istio.authorization_policies[p].spec.action == AuthorizationAction::Allow
        });
        if !has_allow {
            continue;
        }
        let open: Vec<_> = ctx
            .graph()
            .ports_of(w)
            .filter(|s| s.proxied && s.other_meshed().reach() == Reach::Allowed)
            .collect();
        if open.is_empty() {
            continue;
        }
        let plaintext: Vec<u16> = open
            .iter()
            .filter(|s| s.other_unmeshed().reach().is_open())
            .map(|s| s.port)
            .collect();
        let ports: Vec<String> = open.iter().map(|s| s.port.to_string()).collect();
        let workload = &inv.workloads[w];
        let object = inv.object(workload.object);
        let path = [Step::Key("metadata"), Step::Key("name")];
        let mut f = Finding::new(
            &RULE,
            workload.object,
            object,
            &path,
            format!(
                "{} has ALLOW policies, yet any meshed workload may call port{} {} without condition{}",
                workload_name(&inv.workloads[w]),
                if ports.len() == 1 { "" } else { "s" },
                ports.join(", "),
                if plaintext.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", and clients without a sidecar get through in plaintext too (port {})",
                        plaintext
                            .iter()
                            .map(u16::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
        )
        .key("")
        .remediation(format!(
            "Give the ALLOW rules that apply to {} a `from` naming the callers of port {}, or restrict them to the ports they are meant for.",
            workload_name(&inv.workloads[w]),
            ports.join(", ")
        ));
        for server in open.iter().take(3) {
            if let Some(authz) = &server.other_meshed().authorization {
                let chain: Vec<String> = authz.because.iter().map(|b| b.render(inv)).collect();
                f = f.evidence(format!(
                    "port {}, any other meshed identity: {}",
                    server.port,
                    chain.join("; ")
                ));
                for b in &authz.because {
                    f.relate(inv, b);
                }
            }
        }
        if let Some(server) = open.iter().find(|s| plaintext.contains(&s.port)) {
            let g = server.other_unmeshed();
            let chain: Vec<String> = g.transport_because.iter().map(|b| b.render(inv)).collect();
            f.severity = Severity::High;
            f = f.evidence(format!(
                "port {}, client without a sidecar ({}): {}",
                server.port,
                g.transport.as_str(),
                chain.join("; ")
            ));
            for b in &g.transport_because {
                f.relate(inv, b);
            }
        }
        out.push(f);
    }
}
