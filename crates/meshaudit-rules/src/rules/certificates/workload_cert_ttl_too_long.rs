//! CERT015: the mesh issues workload certificates that live longer than a day (three for Consul).

use meshaudit_model::{Inventory, Location, ObjectId, Step};

use crate::context::Context;
use crate::finding::{Category, Finding, Mesh, Severity};
use crate::rule::Rule;

pub static RULE: Rule = Rule {
    code: "CERT015",
    name: "workload-certificate-ttl-too-long",
    title: "Workload certificate lifetime setting too long",
    category: Category::Certificates,
    severity: Severity::Medium,
    meshes: &[Mesh::Istio, Mesh::Linkerd, Mesh::Consul],
    compliance: &["SOC2:CC6.1", "NIST-800-204A:SM-DR6", "NIST-800-204B:AC-2"],
    doc: r#"
## What it detects

Settings that make the mesh issue workload (leaf) certificates that stay valid longer than the
mesh's own default:

- **Istio**: the `DEFAULT_WORKLOAD_CERT_TTL` and `MAX_WORKLOAD_CERT_TTL` environment variables of
  istiod (any container that sets them), and `SECRET_TTL` in `proxyMetadata` of the
  `proxy.istio.io/config` pod annotation or of the mesh config `defaultConfig`. Istio's default
  workload certificate lifetime is 24 hours. Above 24 hours → `low`, above 7 days → `medium`.
  (`MAX_WORKLOAD_CERT_TTL` defaults to 90 days and is only reported when it is set explicitly.)
- **Linkerd**: `issuanceLifetime` in the `linkerd-config` ConfigMap (`values` or older keys) and
  the identity controller's `-identity-issuance-lifetime` argument. Linkerd's default is 24 hours;
  same thresholds.
- **Consul**: `leaf_cert_ttl` / `LeafCertTTL` in a ConfigMap holding Consul server configuration
  (HCL `connect { ca_config { leaf_cert_ttl = "..." } }` or JSON). Consul's default is 72 hours;
  above it → `medium`.

Values are Go durations (`24h`, `2160h0m0s`, `90m`). A value that is not a valid Go duration is
reported as `medium` too ("unparseable TTL"): the component will fail to start or silently use
its default, and meshaudit cannot judge it. The finding points at the variable or value.

## Why it matters

Meshes keep workload certificates short-lived instead of revoking them: there is no CRL or OCSP for
workload identities. A certificate (and key) stolen from a pod, a node or a debug dump is a valid
identity for as long as it lives; with a 24-hour lifetime the window closes by itself within a
day, with 90 days it stays open for a quarter after the pod is gone. Short lifetimes also exercise
rotation daily, so a broken CA shows within a day instead of months later.

## Example

```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: istiod
  namespace: istio-system
spec:
  template:
    spec:
      containers:
      - name: discovery
        image: docker.io/istio/pilot:1.24.0
        env:
        - name: DEFAULT_WORKLOAD_CERT_TTL
          value: 720h    # 30 days
```

## Fix

Remove the override or set it to at most `24h` (Istio, Linkerd) or `72h` (Consul). If a longer
lifetime was chosen to ride out CA outages, make the CA highly available instead. For Istio, also
lower `MAX_WORKLOAD_CERT_TTL` so workloads cannot request longer lifetimes through `SECRET_TTL`.

## References

- Istio: pilot-discovery environment variables (DEFAULT_WORKLOAD_CERT_TTL, MAX_WORKLOAD_CERT_TTL) — https://istio.io/latest/docs/reference/commands/pilot-discovery/
- Istio: pilot-agent environment variables (SECRET_TTL) — https://istio.io/latest/docs/reference/commands/pilot-agent/
- Linkerd: Automatic mTLS (24-hour workload certificates) — https://linkerd.io/2/features/automatic-mtls/
- Linkerd: CLI install flags (`--identity-issuance-lifetime`) — https://linkerd.io/2/reference/cli/install/
- Consul: Service mesh certificate authority configuration (`leaf_cert_ttl`, default 72h) — https://developer.hashicorp.com/consul/docs/connect/ca
- Consul: agent configuration `connect.ca_config` — https://developer.hashicorp.com/consul/docs/agent/config/config-files#connect-parameters
"#,
    check,
};

const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;

/// Seconds of a Go duration (`1h30m`, `2160h0m0s`, `1.5h`, `0`); `None` when it is not one.
pub(crate) fn go_duration(text: &str) -> Option<f64> {
    let s = text.trim();
    let (negative, mut s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if s == "0" {
        return Some(0.0);
    }
    if s.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !s.is_empty() {
        let number_len = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let number = &s[..number_len];
        if number.is_empty() || number == "." {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        s = &s[number_len..];
        let unit_len = s
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(s.len());
        let factor = match &s[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => HOUR,
            _ => return None,
        };
        total += value * factor;
        s = &s[unit_len..];
    }
    Some(if negative { -total } else { total })
}

fn human(secs: f64) -> String {
    if secs >= 2.0 * DAY && (secs % DAY) == 0.0 {
        format!("{} days", secs / DAY)
    } else if secs >= HOUR {
        format!("{} hours", (secs / HOUR * 10.0).round() / 10.0)
    } else {
        format!("{secs} seconds")
    }
}

/// One setting found: where it is and what it says.
struct Setting {
    object: ObjectId,
    path: Vec<String>,
    /// Line and column inside a multi-line value, when the setting is one line of it.
    line: Option<(u32, u32)>,
    what: String,
    value: String,
    mesh: Mesh,
    /// The mesh's default lifetime, seconds; the `low` threshold (Consul: `medium`).
    default: f64,
    consul: bool,
    key: String,
}

fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let inv = ctx.inventory;
    let mut settings = Vec::new();
    istio_env(inv, &mut settings);
    istio_annotations(inv, &mut settings);
    config_maps(inv, &mut settings);
    linkerd_args(inv, &mut settings);
    for s in settings {
        let object = inv.object(s.object);
        let steps: Vec<Step<'_>> = s
            .path
            .iter()
            .map(|p| {
                p.strip_prefix('#')
                    .and_then(|i| i.parse().ok())
                    .map_or(Step::Key(p), Step::Index)
            })
            .collect();
        let place = object.qualified_name();
        let (severity, message) = match go_duration(&s.value) {
            None => (
                Severity::Medium,
                format!(
                    "unparseable TTL: {} = {:?} in {place} is not a Go duration (like 24h or 1h30m): the component rejects it or falls back to a default meshaudit cannot see",
                    s.what, s.value
                ),
            ),
            Some(secs) if s.consul && secs > s.default => (
                Severity::Medium,
                format!(
                    "{} = {} in {place}: Consul issues service mesh leaf certificates valid for {}, longer than Consul's default 72h; a stolen leaf certificate stays usable that long",
                    s.what, s.value, human(secs)
                ),
            ),
            Some(secs) if !s.consul && secs > 7.0 * DAY => (
                Severity::Medium,
                format!(
                    "{} = {} in {place}: workload certificates can live {}, more than 7 days (the default is 24h); a stolen workload certificate stays a valid identity that long",
                    s.what, s.value, human(secs)
                ),
            ),
            Some(secs) if !s.consul && secs > s.default => (
                Severity::Low,
                format!(
                    "{} = {} in {place}: workload certificates can live {}, longer than the 24h default; a stolen workload certificate stays a valid identity that long",
                    s.what, s.value, human(secs)
                ),
            ),
            Some(_) => continue,
        };
        let mut f = Finding::new(&RULE, s.object, object, &steps, message)
            .key(s.key)
            .evidence(format!(
                "default lifetime: {}; thresholds: {}",
                human(s.default),
                if s.consul {
                    "medium above 72h"
                } else {
                    "low above 24h, medium above 7 days"
                }
            ));
        if let Some((line, column)) = s.line {
            f.location = Location::new(object.origin.path.clone(), line, column);
        }
        f.severity = severity;
        f.mesh = s.mesh;
        out.push(f);
    }
}

fn container_lists(template: &[&str]) -> [Vec<String>; 2] {
    let base: Vec<String> = template.iter().map(|s| (*s).to_owned()).collect();
    ["containers", "initContainers"].map(|c| {
        let mut p = base.clone();
        p.push("spec".into());
        p.push(c.into());
        p
    })
}

fn strs(path: &[String]) -> Vec<Step<'_>> {
    path.iter().map(|p| Step::Key(p)).collect()
}

/// istiod's env: DEFAULT_WORKLOAD_CERT_TTL, MAX_WORKLOAD_CERT_TTL.
fn istio_env(inv: &Inventory, out: &mut Vec<Setting>) {
    for w in &inv.workloads {
        let node = &inv.object(w.object).node;
        for list in container_lists(w.template_path) {
            let Some(containers) = node.at(&strs(&list)).and_then(|n| n.as_seq()) else {
                continue;
            };
            for (ci, c) in containers.iter().enumerate() {
                let Some(env) = c.get("env").and_then(|e| e.as_seq()) else {
                    continue;
                };
                for (ei, e) in env.iter().enumerate() {
                    let Some(name) = e.get("name").and_then(|n| n.as_str()) else {
                        continue;
                    };
                    if !matches!(name, "DEFAULT_WORKLOAD_CERT_TTL" | "MAX_WORKLOAD_CERT_TTL") {
                        continue;
                    }
                    let Some(value) = e.get("value").and_then(|v| v.scalar_text()) else {
                        continue;
                    };
                    let mut path = list.clone();
                    path.extend([
                        format!("#{ci}"),
                        "env".into(),
                        format!("#{ei}"),
                        "value".into(),
                    ]);
                    let cname = c.get("name").and_then(|n| n.as_str()).unwrap_or("?");
                    out.push(Setting {
                        object: w.object,
                        key: format!("{cname}:{name}"),
                        path,
                        line: None,
                        what: format!("env {name} of container {cname}"),
                        value,
                        mesh: Mesh::Istio,
                        default: 24.0 * HOUR,
                        consul: false,
                    });
                }
            }
        }
    }
}

/// `SECRET_TTL: 72h` / `"SECRET_TTL": "72h"` / `leaf_cert_ttl = "72h"` on one line of `text`:
/// (line index, value).
fn find_setting(text: &str, names: &[&str]) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for name in names {
            let Some(at) = line.find(name) else { continue };
            // Whole word only.
            let before = line[..at].chars().last();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                continue;
            }
            let rest = line[at + name.len()..].trim_start_matches(['"', '\'']);
            let Some(rest) = rest
                .trim_start()
                .strip_prefix([':', '='])
                .map(str::trim_start)
            else {
                continue;
            };
            let value: String = if let Some(q) = rest.strip_prefix(['"', '\'']) {
                q.chars().take_while(|c| *c != '"' && *c != '\'').collect()
            } else {
                rest.chars()
                    .take_while(|c| !c.is_whitespace() && *c != ',' && *c != '}' && *c != '#')
                    .collect()
            };
            out.push((i, (*name).to_owned(), value));
            break;
        }
    }
    out
}

/// Line and column of line `index` of a block value under `parent.key` (the key's line for
/// one-liners). A block's lines are taken to be indented two columns past the key.
fn value_line(
    inv: &Inventory,
    object: ObjectId,
    parent: &[Step<'_>],
    key: &str,
    index: usize,
) -> Option<(u32, u32)> {
    let o = inv.object(object);
    let entry = o.node.at(parent)?.entry(key)?;
    let text = entry.value.as_str().unwrap_or_default();
    let multi = entry.value.line > entry.key_line || text.contains('\n');
    if !multi {
        return Some((entry.key_line, entry.value.column));
    }
    let indent = text
        .lines()
        .nth(index)
        .map_or(0, |l| l.len() - l.trim_start().len());
    Some((
        entry.key_line + 1 + u32::try_from(index).ok()?,
        entry.key_column + 2 + u32::try_from(indent).ok()?,
    ))
}

/// The `proxy.istio.io/config` pod annotation: proxyMetadata SECRET_TTL.
fn istio_annotations(inv: &Inventory, out: &mut Vec<Setting>) {
    const ANNOTATION: &str = "proxy.istio.io/config";
    for w in &inv.workloads {
        let Some(text) = w.annotations.get(ANNOTATION) else {
            continue;
        };
        let mut parent: Vec<String> = w.template_path.iter().map(|s| (*s).to_owned()).collect();
        parent.extend(["metadata".to_owned(), "annotations".to_owned()]);
        for (i, name, value) in find_setting(text, &["SECRET_TTL"]) {
            let line = value_line(inv, w.object, &strs(&parent), ANNOTATION, i);
            let mut path = parent.clone();
            path.push(ANNOTATION.to_owned());
            out.push(Setting {
                object: w.object,
                key: format!("{ANNOTATION}:{name}"),
                path,
                line,
                what: format!("proxyMetadata {name} in the {ANNOTATION} pod annotation"),
                value,
                mesh: Mesh::Istio,
                default: 24.0 * HOUR,
                consul: false,
            });
        }
    }
}

/// Istio mesh config (`SECRET_TTL`), `linkerd-config` (`issuanceLifetime`), Consul server
/// configuration (`leaf_cert_ttl`, `LeafCertTTL`).
fn config_maps(inv: &Inventory, out: &mut Vec<Setting>) {
    for cm in &inv.config_maps {
        for (key, text) in &cm.data {
            let is_istio_mesh =
                key == "mesh" && (cm.name == "istio" || cm.name.starts_with("istio-"));
            let (names, mesh, default, consul): (&[&str], Mesh, f64, bool) = if is_istio_mesh {
                (&["SECRET_TTL"], Mesh::Istio, 24.0 * HOUR, false)
            } else if cm.name == "linkerd-config" {
                (&["issuanceLifetime"], Mesh::Linkerd, 24.0 * HOUR, false)
            } else if text.contains("leaf_cert_ttl") || text.contains("LeafCertTTL") {
                (
                    &["leaf_cert_ttl", "LeafCertTTL"],
                    Mesh::Consul,
                    72.0 * HOUR,
                    true,
                )
            } else {
                continue;
            };
            for (i, name, value) in find_setting(text, names) {
                let line = value_line(inv, cm.object, &[Step::Key("data")], key, i);
                out.push(Setting {
                    object: cm.object,
                    key: format!("{key}:{name}"),
                    path: vec!["data".into(), key.clone()],
                    line,
                    what: format!("{name} (data.{key})"),
                    value,
                    mesh,
                    default,
                    consul,
                });
            }
        }
    }
}

/// Linkerd's identity controller: `-identity-issuance-lifetime=...`.
fn linkerd_args(inv: &Inventory, out: &mut Vec<Setting>) {
    const FLAGS: [&str; 2] = ["identity-issuance-lifetime", "issuance-lifetime"];
    for w in &inv.workloads {
        for (ci, c) in w.containers.iter().enumerate() {
            for (ai, arg) in c.args.iter().enumerate() {
                let flag = arg.trim_start_matches('-');
                if !arg.starts_with('-') {
                    continue;
                }
                let (name, value) = match flag.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_owned())),
                    None => (flag, None),
                };
                if !FLAGS.contains(&name) {
                    continue;
                }
                let (value, index) = match value {
                    Some(v) => (v, ai),
                    None => match c.args.get(ai + 1) {
                        Some(v) => (v.clone(), ai + 1),
                        None => continue,
                    },
                };
                let mut path: Vec<String> =
                    w.template_path.iter().map(|s| (*s).to_owned()).collect();
                path.extend([
                    "spec".into(),
                    "containers".into(),
                    format!("#{ci}"),
                    "args".into(),
                    format!("#{index}"),
                ]);
                out.push(Setting {
                    object: w.object,
                    key: format!("{}:{name}", c.name),
                    path,
                    line: None,
                    what: format!("argument -{name} of container {}", c.name),
                    value,
                    mesh: Mesh::Linkerd,
                    default: 24.0 * HOUR,
                    consul: false,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{find_setting, go_duration};

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("24h"), Some(86_400.0));
        assert_eq!(go_duration("2160h0m0s"), Some(2160.0 * 3600.0));
        assert_eq!(go_duration("1h30m"), Some(5400.0));
        assert_eq!(go_duration("1.5h"), Some(5400.0));
        assert_eq!(go_duration("0"), Some(0.0));
        assert_eq!(go_duration("500ms"), Some(0.5));
        assert_eq!(go_duration("30d"), None);
        assert_eq!(go_duration("72"), None);
        assert_eq!(go_duration(""), None);
        assert_eq!(go_duration("h"), None);
    }

    #[test]
    fn settings_in_text() {
        let hcl = "connect {\n  ca_config {\n    leaf_cert_ttl = \"720h\"\n  }\n}\n";
        assert_eq!(
            find_setting(hcl, &["leaf_cert_ttl"]),
            vec![(2, "leaf_cert_ttl".to_owned(), "720h".to_owned())]
        );
        let json = r#"{"connect": {"ca_config": {"leaf_cert_ttl": "96h"}}}"#;
        assert_eq!(find_setting(json, &["leaf_cert_ttl"])[0].2, "96h");
        let yaml = "identity:\n  issuer:\n    issuanceLifetime: 24h0m0s\n";
        assert_eq!(find_setting(yaml, &["issuanceLifetime"])[0].2, "24h0m0s");
        assert!(find_setting("MY_SECRET_TTL: 1h", &["SECRET_TTL"]).is_empty());
    }
}
