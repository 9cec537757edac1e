//! The same object defined twice in one scan (a GitOps repository with two copies of a manifest,
//! two exports of one cluster, a `kubectl get` List next to the files it came from).
//!
//! The cluster would hold one object, so the inventory holds one: the later definition, as
//! `kubectl apply` of the whole input would leave it. Every earlier definition is dropped with a
//! warning naming both places, so findings are neither repeated nor computed from two versions
//! of one object.

use std::collections::HashMap;

use meshaudit_model::{InputError, Object};

use crate::objects::Collected;

/// Identity of an object in a cluster: API group (not version: `v1beta1` and `v1` of one
/// resource are the same object), kind, namespace and name.
type Identity<'a> = (&'a str, &'a str, Option<&'a str>, &'a str);

fn identity(o: &Object) -> Option<Identity<'_>> {
    // `generateName` objects (`name*`) get a fresh name from the API server each time: two of
    // them are two objects.
    if o.name.ends_with('*') {
        return None;
    }
    Some((o.group(), &o.kind, o.namespace.as_deref(), &o.name))
}

/// Keeps the last definition of every object, in input order, and returns one warning per
/// dropped definition. The Secret side tables, indexed by position, are re-indexed.
pub fn resolve(collected: &mut Collected) -> Vec<InputError> {
    let objects = &collected.objects;
    // Index of the definition that wins, per identity: one pass, the later overwrites.
    let mut last: HashMap<Identity<'_>, usize> = HashMap::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        if let Some(id) = identity(o) {
            last.insert(id, i);
        }
    }
    if last.len() == objects.len() {
        return Vec::new();
    }
    let mut warnings = Vec::new();
    let mut keep = vec![true; objects.len()];
    for (i, o) in objects.iter().enumerate() {
        let Some(id) = identity(o) else { continue };
        let winner = last[&id];
        if winner == i {
            continue;
        }
        keep[i] = false;
        let kept = &objects[winner];
        warnings.push(InputError::new(
            o.origin.path.clone(),
            o.origin.line,
            o.origin.column,
            format!(
                "{} {} is defined again at {}:{}; that later definition is audited and this one is ignored, as `kubectl apply` of both would leave it",
                o.kind,
                o.qualified_name(),
                kept.origin.path,
                kept.origin.line
            ),
        ));
    }
    drop(last);

    // Old position → new position of the objects kept.
    let mut new_index = Vec::with_capacity(keep.len());
    let mut next = 0usize;
    for &k in &keep {
        new_index.push(k.then(|| {
            next += 1;
            next - 1
        }));
    }
    let mut i = 0;
    collected.objects.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    let reindex = |old: usize| new_index.get(old).copied().flatten();
    collected.secret_certificates = std::mem::take(&mut collected.secret_certificates)
        .into_iter()
        .filter_map(|(old, c)| reindex(old).map(|new| (new, c)))
        .collect();
    collected.secret_key_hashes = std::mem::take(&mut collected.secret_key_hashes)
        .into_iter()
        .filter_map(|(old, h)| reindex(old).map(|new| (new, h)))
        .collect();
    warnings
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::objects::collect;
    use crate::yaml::parse_documents;

    fn collected(files: &[(&str, &str)]) -> Collected {
        let mut out = Collected::default();
        for (path, text) in files {
            let path: Arc<str> = Arc::from(*path);
            let (docs, errors) = parse_documents(text, 1);
            assert!(errors.is_empty(), "{errors:?}");
            let mut one = Collected::default();
            for d in docs {
                collect(&path, d, &mut one);
            }
            out.append(one);
        }
        out
    }

    const SA: &str = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  namespace: x\n";

    #[test]
    fn the_later_definition_wins_and_both_places_are_named() {
        let mut c = collected(&[
            ("a.yaml", SA),
            (
                "b.yaml",
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  namespace: x\n  labels: {second: \"yes\"}\n",
            ),
        ]);
        let warnings = resolve(&mut c);
        assert_eq!(c.objects.len(), 2);
        assert_eq!(c.objects[0].kind, "Service");
        assert_eq!(
            c.objects[1].labels.get("second").map(String::as_str),
            Some("yes")
        );
        assert_eq!(warnings.len(), 1);
        let w = &warnings[0];
        assert_eq!((&*w.path, w.line), ("a.yaml", 1));
        assert!(w.message.contains("ServiceAccount x/a"), "{}", w.message);
        assert!(w.message.contains("b.yaml:6"), "{}", w.message);
    }

    #[test]
    fn identity_is_group_kind_namespace_name() {
        let mut c = collected(&[(
            "a.yaml",
            "apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\nmetadata: {name: p, namespace: x}\n---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: p, namespace: x}\n---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: p, namespace: y}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: p, namespace: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: p}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: p, namespace: default}\n",
        )]);
        let warnings = resolve(&mut c);
        // v1beta1 and v1 of x/p are one object; `default` is where a namespace-less object goes.
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert_eq!(c.objects.len(), 4);
        assert_eq!(c.objects[0].api_version, "security.istio.io/v1");
    }

    #[test]
    fn generate_name_objects_are_never_duplicates() {
        let job =
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: run-\n  namespace: x\n";
        let mut c = collected(&[("a.yaml", &format!("{job}---\n{job}"))]);
        assert!(resolve(&mut c).is_empty());
        assert_eq!(c.objects.len(), 2);
    }

    #[test]
    fn three_copies_leave_the_last_and_two_warnings() {
        let mut c = collected(&[("a.yaml", SA), ("b.yaml", SA), ("c.yaml", SA)]);
        let warnings = resolve(&mut c);
        assert_eq!(c.objects.len(), 1);
        assert_eq!(&*c.objects[0].origin.path, "c.yaml");
        assert_eq!(warnings.len(), 2);
        assert!(warnings.iter().all(|w| w.message.contains("c.yaml:1")));
    }

    #[test]
    fn secret_side_tables_follow_their_objects() {
        use base64::Engine;
        let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
        let key_b64 = b64(include_str!("../tests/data/rsa-test-key.pkcs8.pem"));
        let crt_b64 = b64(include_str!("../tests/data/rsa-test-key.crt"));
        let secret = |name: &str| {
            format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: x\ndata:\n  tls.key: {key_b64}\n  tls.crt: {crt_b64}\n")
        };
        let mut c = collected(&[
            ("a.yaml", &secret("one")),
            ("b.yaml", &secret("two")),
            ("c.yaml", &secret("one")),
        ]);
        let positions = |c: &Collected| {
            (
                c.secret_key_hashes
                    .iter()
                    .map(|(i, _)| *i)
                    .collect::<Vec<_>>(),
                c.secret_certificates
                    .iter()
                    .map(|(i, _)| *i)
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(positions(&c), (vec![0, 1, 2], vec![0, 1, 2]));
        let warnings = resolve(&mut c);
        assert_eq!(warnings.len(), 1);
        assert_eq!(c.objects.len(), 2);
        // "two" moved from 1 to 0, the last "one" from 2 to 1; the dropped copy's entry is gone.
        assert_eq!(positions(&c), (vec![0, 1], vec![0, 1]));
        assert_eq!(c.objects[0].name, "two");
        assert_eq!(&*c.objects[1].origin.path, "c.yaml");
    }
}
