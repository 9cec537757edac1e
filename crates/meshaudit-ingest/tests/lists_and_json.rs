//! Lists read item by item, JSON through the JSON parser, and the fields no rule reads skipped.

use std::sync::Arc;

use meshaudit_ingest::json::{parse_values, Position, Role};
use meshaudit_ingest::yaml::{parse_documents, MAX_NODES_PER_DOCUMENT};
use meshaudit_ingest::{ingest, Ingested, SourceText};
use meshaudit_model::{Node, Value};

fn run(path: &str, text: String) -> Ingested {
    ingest(&[SourceText {
        path: Arc::from(path),
        text,
    }])
}

/// A ConfigMap item as kubectl prints it in YAML, with managedFields and status, `keys` keys of
/// data.
fn yaml_item(i: usize, keys: usize) -> String {
    let mut s = format!(
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    managedFields:\n    - apiVersion: v1\n      fieldsV1:\n        f:data:\n          .: {{}}\n      manager: kubectl\n    name: cm-{i}\n    namespace: ns\n  status:\n    phase: Active\n  data:\n"
    );
    for k in 0..keys {
        s.push_str(&format!("    k{k}: v{k}\n"));
    }
    s
}

fn json_item(i: usize, keys: usize) -> String {
    let data: Vec<String> = (0..keys).map(|k| format!("\"k{k}\": \"v{k}\"")).collect();
    format!(
        "        {{\n            \"apiVersion\": \"v1\",\n            \"data\": {{{}}},\n            \"kind\": \"ConfigMap\",\n            \"metadata\": {{\n                \"managedFields\": [{{\"manager\": \"kubectl\", \"fieldsV1\": {{\"f:data\": {{}}}}}}],\n                \"name\": \"cm-{i}\",\n                \"namespace\": \"ns\"\n            }},\n            \"status\": {{\"phase\": \"Active\"}}\n        }}",
        data.join(", ")
    )
}

fn yaml_list(items: &[String]) -> String {
    format!(
        "apiVersion: v1\nitems:\n{}kind: List\nmetadata:\n  resourceVersion: \"\"\n",
        items.concat()
    )
}

fn json_list(items: &[String]) -> String {
    format!(
        "{{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n{}\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {{\n        \"resourceVersion\": \"\"\n    }}\n}}\n",
        items.join(",\n")
    )
}

#[test]
fn a_list_larger_than_the_document_budget_is_read_whole() {
    // 3,000 items of about 1,000 nodes: 3 M nodes in one document, each item small.
    let n = 3_000;
    let keys = 500;
    assert!(n * keys * 2 > MAX_NODES_PER_DOCUMENT);
    let yaml: Vec<String> = (0..n).map(|i| yaml_item(i, keys)).collect();
    let out = run("dump.yaml", yaml_list(&yaml));
    assert!(out.errors.is_empty(), "{:?}", &out.errors[..1]);
    assert_eq!(out.inventory.objects.len(), n);
    let json: Vec<String> = (0..n).map(|i| json_item(i, keys)).collect();
    let out = run("dump.json", json_list(&json));
    assert!(out.errors.is_empty(), "{:?}", &out.errors[..1]);
    assert_eq!(out.inventory.objects.len(), n);
    assert_eq!(out.inventory.objects[n - 1].name, format!("cm-{}", n - 1));
}

#[test]
fn the_whole_list_is_budgeted_per_item_when_it_cannot_be_split() {
    // Items indented under `items:` (not kubectl's layout) are parsed with the document, but the
    // node budget still counts each item alone.
    let n = 2_100;
    let keys = 500;
    let items: String = (0..n)
        .map(|i| {
            yaml_item(i, keys)
                .lines()
                .map(|l| format!("  {l}\n"))
                .collect::<String>()
        })
        .collect();
    let text = format!("apiVersion: v1\nkind: List\nitems:\n{items}");
    let out = run("indented.yaml", text);
    assert!(out.errors.is_empty(), "{:?}", &out.errors[..1]);
    assert_eq!(out.inventory.objects.len(), n);
}

#[test]
fn managed_fields_and_status_are_dropped_and_later_positions_stay_right() {
    let yaml = yaml_list(&[yaml_item(0, 2), yaml_item(1, 2)]);
    let out = run("l.yaml", yaml.clone());
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let second = &out.inventory.objects[1];
    assert!(second.node.get("status").is_none());
    let metadata = second.node.get("metadata").unwrap();
    assert!(metadata.get("managedFields").is_none());
    // Lines: header 2, each item 16 lines; the second item starts at line 19.
    assert_eq!(second.origin.line, 19);
    assert_eq!(second.name_location().line, 19 + 9);
    assert_eq!(second.name_location().column, 5);
    assert_eq!(
        second.node.position_of(&["data".into(), "k1".into()]),
        Some((19 + 15, 5))
    );
    // A `status` that is not the object's own is kept.
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n    sidecar.istio.io/status: '{}'\ndata:\n  status: ok\n".to_owned();
    let out = run("cm.yaml", text);
    let o = &out.inventory.objects[0];
    assert_eq!(
        o.node
            .at(&["data".into(), "status".into()])
            .unwrap()
            .as_str(),
        Some("ok")
    );
    assert!(o.annotations.contains_key("sidecar.istio.io/status"));
}

/// Every node and key of `a` and `b` in the same place with the same value.
fn same_tree(a: &Node, b: &Node) {
    assert_eq!((a.line, a.column), (b.line, b.column), "{a:?} vs {b:?}");
    match (&a.value, &b.value) {
        (Value::Map(x), Value::Map(y)) => {
            assert_eq!(x.len(), y.len());
            for (e, f) in x.iter().zip(y) {
                assert_eq!(e.key, f.key);
                assert_eq!(
                    (e.key_line, e.key_column),
                    (f.key_line, f.key_column),
                    "{}",
                    e.key
                );
                same_tree(&e.value, &f.value);
            }
        }
        (Value::Seq(x), Value::Seq(y)) => {
            assert_eq!(x.len(), y.len());
            for (e, f) in x.iter().zip(y) {
                same_tree(e, f);
            }
        }
        (x, y) => assert_eq!(x, y),
    }
}

#[test]
fn json_positions_and_values_equal_the_yaml_parsers() {
    let text = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Service\",\n  \"metadata\": {\"name\": \"é-svc\", \"labels\": {\"a\": \"1\", \"b\": \"\"},\n    \"managedFields\": [{\"x\": [1, {\"y\": \"}]\\\"\"}]}], \"namespace\": \"n\"},\n  \"spec\": {\"ports\": [{\"port\": 80, \"targetPort\": \"http\", \"w\": 1.5e3, \"z\": -0, \"big\": 123456789012345678901, \"t\": true, \"f\": false, \"u\": null, \"esc\": \"a\\nb\\u00e9\"}], \"ipFamilies\": [], \"x\": {}},\n  \"status\": {\"loadBalancer\": {}}\n}\n";
    let json = parse_values(text, 0..text.len(), Position::START, Role::Document, None).unwrap();
    let (yaml, errors) = parse_documents(text, 1);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(json.len(), 1);
    same_tree(&json[0], yaml[0].root.as_ref().unwrap());
    assert!(json[0].get("status").is_none());
    assert!(json[0]
        .get("metadata")
        .unwrap()
        .get("managedFields")
        .is_none());
    let port = json[0]
        .at(&["spec".into(), "ports".into(), 0.into()])
        .unwrap();
    assert_eq!(port.get("port").unwrap().value, Value::Int(80));
    assert_eq!(port.get("w").unwrap().value, Value::Float(1500.0));
    // After the `é` the columns count characters, as the YAML parser's do.
    assert_eq!(
        json[0].position_of(&["metadata".into(), "labels".into()]),
        Some((4, 33))
    );
}

#[test]
fn list_items_point_at_the_same_places_in_yaml_and_json() {
    // The same List through both paths: JSON item fields against the YAML parser reading the
    // same JSON text (JSON is YAML), YAML items against their own text.
    let items: Vec<String> = (0..5).map(|i| json_item(i, 3)).collect();
    let text = json_list(&items);
    let out = run("l.json", text.clone());
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let (docs, errors) = parse_documents(&text, 1);
    assert!(errors.is_empty(), "{errors:?}");
    let whole = docs[0].root.as_ref().unwrap().get("items").unwrap();
    for (i, object) in out.inventory.objects.iter().enumerate() {
        same_tree(&object.node, whole.index(i).unwrap());
        assert_eq!(object.origin.line, 4 + 11 * i as u32);
        assert_eq!(object.origin.column, 9);
    }
    // Compact JSON: every item on the one line, columns still exact.
    let compact = text.lines().map(str::trim).collect::<Vec<_>>().join("");
    let out = run("c.json", compact.clone());
    let (docs, _) = parse_documents(&compact, 1);
    let whole = docs[0].root.as_ref().unwrap().get("items").unwrap();
    assert_eq!(out.inventory.objects.len(), 5);
    for (i, object) in out.inventory.objects.iter().enumerate() {
        same_tree(&object.node, whole.index(i).unwrap());
    }
}

#[test]
fn a_broken_item_is_reported_and_the_others_are_audited() {
    // JSON: a syntax error in the second item.
    let mut items: Vec<String> = (0..3).map(|i| json_item(i, 2)).collect();
    items[1] = items[1].replace(
        "\"kind\": \"ConfigMap\",",
        "\"kind\": \"ConfigMap\" \"oops\",",
    );
    let out = run("l.json", json_list(&items));
    assert_eq!(out.inventory.objects.len(), 2, "{:?}", out.errors);
    assert_eq!(out.errors.len(), 1);
    let e = &out.errors[0];
    assert_eq!((e.line, e.column), (18, 33), "{e}");
    assert!(e.message.contains("invalid JSON"), "{e}");
    assert_eq!(&*e.path, "l.json");

    // YAML: an alias bomb in one item, too deep a nesting in another.
    let mut bomb = String::from(
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: bomb\n  data:\n    a: &a [x, x, x, x, x, x, x, x, x, x]\n",
    );
    let mut prev = 'a';
    for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h'] {
        bomb.push_str(&format!(
            "    {name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
        prev = name;
    }
    let deep = format!(
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: deep\n  data:\n    x: {}{}\n",
        "[".repeat(200),
        "]".repeat(200)
    );
    let items = vec![
        yaml_item(0, 1),
        bomb,
        yaml_item(1, 1),
        deep,
        yaml_item(2, 1),
    ];
    let out = run("l.yaml", yaml_list(&items));
    let names: Vec<&str> = out
        .inventory
        .objects
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(names, ["cm-0", "cm-1", "cm-2"], "{:?}", out.errors);
    assert_eq!(out.errors.len(), 2, "{:?}", out.errors);
    assert!(out.errors[0].message.contains("nodes"), "{}", out.errors[0]);
    assert!(out.errors[0].line > 18 && out.errors[0].line < 30);
    assert!(
        out.errors[1].message.contains("nested deeper"),
        "{}",
        out.errors[1]
    );

    // JSON too deep in one item.
    let mut items: Vec<String> = (0..3).map(|i| json_item(i, 2)).collect();
    items[1] = items[1].replace(
        "\"data\": {",
        &format!(
            "\"deep\": {}{}, \"data\": {{",
            "[".repeat(200),
            "]".repeat(200)
        ),
    );
    let out = run("d.json", json_list(&items));
    assert_eq!(out.inventory.objects.len(), 2);
    assert!(
        out.errors[0].message.contains("nested deeper"),
        "{}",
        out.errors[0]
    );
    assert_eq!(out.errors[0].line, 17);
}

#[test]
fn json_errors_have_lines_and_columns() {
    let dup = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Service\",\n  \"kind\": \"Pod\"\n}\n";
    let out = run("d.json", dup.to_owned());
    assert_eq!(out.errors.len(), 1);
    assert_eq!((out.errors[0].line, out.errors[0].column), (4, 3));
    assert!(out.errors[0].message.contains("duplicate key `kind`"));

    for (text, line, column) in [
        ("{\n  \"a\": 1,\n}\n", 3, 1),
        ("{\n  \"a\": [1, 2\n", 3, 1),
        ("{\"a\": tru}", 1, 7),
        ("{\"a\": 1} x", 1, 10),
        ("{\"a\": 'x'}", 1, 7),
        ("{\"a\": 1 // no\n}", 1, 9),
    ] {
        let out = run("e.json", text.to_owned());
        assert_eq!(out.errors.len(), 1, "{text}: {:?}", out.errors);
        let e = &out.errors[0];
        assert_eq!((e.line, e.column), (line, column), "{text}: {e}");
    }
}

#[test]
fn text_starting_with_a_brace_that_is_not_json_is_read_as_yaml() {
    // A YAML flow mapping: unquoted keys are not JSON.
    let out = run(
        "flow.yaml",
        "{apiVersion: v1, kind: Namespace, metadata: {name: x}}\n".to_owned(),
    );
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.inventory.objects.len(), 1);
    // The same in a file named .json is a JSON error.
    let out = run(
        "flow.json",
        "{apiVersion: v1, kind: Namespace, metadata: {name: x}}\n".to_owned(),
    );
    assert_eq!(out.inventory.objects.len(), 0);
    assert!(out.errors[0].message.contains("invalid JSON"));
}

#[test]
fn a_json_object_with_items_that_is_not_a_list_is_read_whole() {
    let text = "{\"apiVersion\": \"example.com/v1\", \"kind\": \"Thing\", \"metadata\": {\"name\": \"t\"}, \"items\": [{\"status\": 1}]}";
    let out = run("t.json", text.to_owned());
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.inventory.objects.len(), 1);
    assert_eq!(out.inventory.objects[0].kind, "Thing");
}

#[test]
fn json_that_is_not_utf8_is_refused_with_the_offset() {
    let mut bytes =
        b"{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"".to_vec();
    let offset = bytes.len();
    bytes.extend([0xff, 0xfe]);
    bytes.extend(b"\"}}");
    let sources = meshaudit_ingest::read_sources(&["-".into()], &mut bytes.as_slice());
    assert!(sources.texts.is_empty());
    assert_eq!(sources.errors.len(), 1);
    let e = &sources.errors[0];
    assert_eq!(&*e.path, "<stdin>");
    assert!(
        e.message.contains("not UTF-8") && e.message.contains(&format!("offset {offset}")),
        "{e}"
    );
}
