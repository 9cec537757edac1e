//! Documents into Kubernetes objects: `kind: List` unpacked, metadata read, secret values
//! dropped.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use meshaudit_model::object::{api_group, is_cluster_scoped};
use meshaudit_model::{CertificateInfo, InputError, Location, Node, Object, Value};

use crate::certs::{certificates_in, private_key_public_sha256};
use crate::yaml::Document;

/// Annotation `kubectl apply` writes with the whole previous object — for a Secret, its data.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Objects of one input, plus what could not be read and what was skipped.
#[derive(Debug, Default)]
pub struct Collected {
    pub objects: Vec<Object>,
    /// Certificates of `Secret` objects, by index into `objects`, taken before values are dropped.
    pub secret_certificates: Vec<(usize, Vec<CertificateInfo>)>,
    /// Public-key hashes of the private keys in `Secret` objects (key name → SHA-256 hex of the
    /// subjectPublicKeyInfo), by index into `objects`. The keys themselves are dropped.
    pub secret_key_hashes: Vec<(usize, BTreeMap<String, String>)>,
    pub errors: Vec<InputError>,
    pub notes: Vec<InputError>,
}

impl Collected {
    /// Adds `other`'s objects after this one's, with its indexes moved along.
    pub fn append(&mut self, other: Collected) {
        let offset = self.objects.len();
        self.objects.extend(other.objects);
        self.secret_certificates.extend(
            other
                .secret_certificates
                .into_iter()
                .map(|(i, c)| (i + offset, c)),
        );
        self.secret_key_hashes.extend(
            other
                .secret_key_hashes
                .into_iter()
                .map(|(i, h)| (i + offset, h)),
        );
        self.errors.extend(other.errors);
        self.notes.extend(other.notes);
    }
}

pub fn collect(path: &Arc<str>, document: Document, out: &mut Collected) {
    let Some(root) = document.root else { return };
    collect_node(path, root, document.helm_source.as_deref(), out);
}

fn collect_node(path: &Arc<str>, mut node: Node, helm_source: Option<&str>, out: &mut Collected) {
    let at = |n: &Node, message: String| InputError::new(path.clone(), n.line, n.column, message);
    if node.as_map().is_none() {
        out.notes.push(at(
            &node,
            format!("skipped: {} is not a Kubernetes object", node.type_name()),
        ));
        return;
    }
    let api_version = node
        .get("apiVersion")
        .and_then(Node::as_str)
        .map(str::to_owned);
    let kind = node.get("kind").and_then(Node::as_str).map(str::to_owned);
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        out.notes.push(at(
            &node,
            "skipped: document has no `apiVersion` and `kind`, so it is not a Kubernetes object"
                .to_owned(),
        ));
        return;
    };

    if kind.ends_with("List") && node.get("items").is_some() {
        let items = take_entry(&mut node, "items");
        match items.map(|n| n.value) {
            Some(Value::Seq(items)) => {
                for item in items {
                    collect_node(path, item, helm_source, out);
                }
            }
            Some(Value::Null) | None => {}
            Some(other) => out.errors.push(at(
                &node,
                format!(
                    "{kind}: `items` must be a sequence, found {}",
                    other.type_name()
                ),
            )),
        }
        return;
    }

    let Some(metadata) = node.get("metadata") else {
        out.errors
            .push(at(&node, format!("{kind}: `metadata` is missing")));
        return;
    };
    if metadata.as_map().is_none() {
        out.errors.push(at(
            metadata,
            format!(
                "{kind}: `metadata` must be a mapping, found {}",
                metadata.type_name()
            ),
        ));
        return;
    }
    let name = metadata
        .get("name")
        .and_then(Node::scalar_text)
        .or_else(|| {
            metadata
                .get("generateName")
                .and_then(Node::as_str)
                .map(|g| format!("{g}*"))
        });
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        out.errors
            .push(at(metadata, format!("{kind}: `metadata.name` is missing")));
        return;
    };
    let group = api_group(&api_version);
    let namespace = if is_cluster_scoped(group, &kind) {
        None
    } else {
        Some(
            metadata
                .get("namespace")
                .and_then(Node::scalar_text)
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "default".to_owned()),
        )
    };
    let labels = match string_map(metadata.get("labels")) {
        Ok(m) => m,
        Err(bad) => {
            out.errors.push(at(
                bad,
                format!("{kind} {name}: `metadata.labels` must map strings to strings"),
            ));
            return;
        }
    };
    let annotations = match string_map(metadata.get("annotations")) {
        Ok(mut m) => {
            m.remove(LAST_APPLIED);
            m
        }
        Err(bad) => {
            out.errors.push(at(
                bad,
                format!("{kind} {name}: `metadata.annotations` must map strings to strings"),
            ));
            return;
        }
    };
    remove_last_applied(&mut node);

    let mut certificates = None;
    let mut key_hashes = BTreeMap::new();
    if group.is_empty() && kind == "Secret" {
        certificates = Some(scrub_secret(&mut node, &mut key_hashes));
    }

    let origin = Location::new(path.clone(), node.line, node.column);
    out.objects.push(Object {
        api_version,
        kind,
        name,
        namespace,
        labels,
        annotations,
        origin,
        helm_source: helm_source.map(str::to_owned),
        node,
    });
    if let Some(certs) = certificates {
        out.secret_certificates.push((out.objects.len() - 1, certs));
    }
    if !key_hashes.is_empty() {
        out.secret_key_hashes
            .push((out.objects.len() - 1, key_hashes));
    }
}

fn take_entry(node: &mut Node, key: &str) -> Option<Node> {
    match &mut node.value {
        Value::Map(entries) => {
            let i = entries.iter().position(|e| e.key == key)?;
            Some(entries.remove(i).value)
        }
        _ => None,
    }
}

fn get_mut<'a>(node: &'a mut Node, key: &str) -> Option<&'a mut Node> {
    match &mut node.value {
        Value::Map(entries) => entries
            .iter_mut()
            .find(|e| e.key == key)
            .map(|e| &mut e.value),
        _ => None,
    }
}

fn remove_last_applied(node: &mut Node) {
    if let Some(annotations) = get_mut(node, "metadata").and_then(|m| get_mut(m, "annotations")) {
        take_entry(annotations, LAST_APPLIED);
    }
}

/// A mapping of scalars as strings; `Err` carries the offending node.
fn string_map(node: Option<&Node>) -> Result<BTreeMap<String, String>, &Node> {
    let Some(node) = node else {
        return Ok(BTreeMap::new());
    };
    match &node.value {
        Value::Null => Ok(BTreeMap::new()),
        Value::Map(entries) => entries
            .iter()
            .map(|e| match &e.value.value {
                Value::Null => Ok((e.key.to_string(), String::new())),
                _ => e
                    .value
                    .scalar_text()
                    .map(|v| (e.key.to_string(), v))
                    .ok_or(&e.value),
            })
            .collect(),
        _ => Err(node),
    }
}

/// Decodes a base64 value as Kubernetes writes them (`data`, `caBundle`), tolerating line
/// breaks inside it.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

/// Takes the certificates out of a Secret's `data` and `stringData`, then replaces every value
/// there with null, so nothing secret outlives ingest. Key names stay: they are not secret and
/// rules read them (`ca-key.pem` present or not). Private keys leave only the hash of their public
/// key in `key_hashes`; the decoded bytes are zeroed before they are dropped.
fn scrub_secret(
    node: &mut Node,
    key_hashes: &mut BTreeMap<String, String>,
) -> Vec<CertificateInfo> {
    let mut certs = Vec::new();
    for (field, encoded) in [("data", true), ("stringData", false)] {
        let Some(data) = get_mut(node, field) else {
            continue;
        };
        if let Value::Map(entries) = &mut data.value {
            for entry in entries.iter_mut() {
                if let Some(text) = entry.value.as_str() {
                    let bytes = if encoded {
                        decode_base64(text)
                    } else {
                        Some(text.as_bytes().to_vec())
                    };
                    if let Some(mut bytes) = bytes {
                        certs.extend(certificates_in(&entry.key, &bytes));
                        if let Some(hash) = private_key_public_sha256(&bytes) {
                            key_hashes.insert(entry.key.to_string(), hash);
                        }
                        bytes.fill(0);
                    }
                }
                entry.value.value = Value::Null;
            }
        } else {
            data.value = Value::Null;
        }
    }
    certs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_documents;

    fn collect_text(text: &str) -> Collected {
        let path: Arc<str> = Arc::from("t.yaml");
        let (docs, errors) = parse_documents(text, 1);
        assert!(errors.is_empty(), "{errors:?}");
        let mut out = Collected::default();
        for d in docs {
            collect(&path, d, &mut out);
        }
        out
    }

    #[test]
    fn lists_are_unpacked_with_item_lines() {
        let out = collect_text(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: a\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata:\n    name: b\n    namespace: x\n",
        );
        assert_eq!(out.objects.len(), 2);
        assert_eq!(out.objects[0].namespace.as_deref(), Some("default"));
        assert_eq!(out.objects[1].origin.line, 8);
        assert_eq!(out.objects[1].name_location().line, 11);
    }

    #[test]
    fn non_objects_are_notes_and_missing_names_are_errors() {
        let out =
            collect_text("foo: bar\n---\n- 1\n---\napiVersion: v1\nkind: Service\nmetadata: {}\n");
        assert_eq!(out.notes.len(), 2);
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].line, 7);
    }

    #[test]
    fn secret_values_never_survive() {
        let out = collect_text(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"password\":\"aHVudGVyMg==\"}}'\ndata:\n  password: aHVudGVyMg==\nstringData:\n  token: hunter3\n",
        );
        let dump = format!("{:?}", out.objects);
        assert!(!dump.contains("aHVudGVyMg"), "{dump}");
        assert!(!dump.contains("hunter3"), "{dump}");
        assert!(out.objects[0]
            .node
            .at(&["data".into(), "password".into()])
            .unwrap()
            .is_null());
    }

    #[test]
    fn private_keys_leave_only_their_public_key_hash() {
        let key = include_str!("../tests/data/rsa-test-key.pkcs8.pem");
        let b64 = base64::engine::general_purpose::STANDARD.encode(key);
        let indented: String = key.lines().map(|l| format!("    {l}\n")).collect();
        let out = collect_text(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  tls.key: {b64}\nstringData:\n  key.pem: |\n{indented}"
        ));
        let dump = format!("{:?}{:?}", out.objects, out.secret_key_hashes);
        assert!(!dump.contains("PRIVATE"), "{dump}");
        assert!(!dump.contains(&b64[40..80]), "{dump}");
        let (index, hashes) = &out.secret_key_hashes[0];
        assert_eq!(*index, 0);
        assert_eq!(
            hashes.keys().collect::<Vec<_>>(),
            vec!["key.pem", "tls.key"]
        );
        assert_eq!(hashes["key.pem"], hashes["tls.key"]);
        assert_eq!(hashes["tls.key"].len(), 64);
    }
}
