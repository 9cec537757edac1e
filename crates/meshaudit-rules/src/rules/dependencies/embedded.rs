//! Documents embedded in ConfigMap values (Kiali's config, Linkerd's values, Istio's mesh
//! config), parsed with positions in the user's file, and protobuf field names read in either
//! spelling.

use std::borrow::Cow;

use meshaudit_model::{Location, Node, Object};

/// A YAML or JSON document held in a ConfigMap value (`data.<key>`), parsed with positions in
/// the user's file: lines as in the file, columns shifted by the block's indentation.
pub struct Embedded {
    pub root: Node,
    /// Added to an embedded node's column to get the file's column.
    pub column_offset: u32,
}

impl Embedded {
    pub fn location(&self, object: &Object, node_line: u32, node_column: u32) -> Location {
        Location::new(
            object.origin.path.clone(),
            node_line,
            node_column + self.column_offset,
        )
    }
}

/// A protobuf field name as written in JSON/YAML, in its proto (snake_case) spelling. Envoy
/// configuration in an EnvoyFilter `patch.value` and Istio's mesh config are protobuf JSON:
/// Istio accepts both the proto name (`inline_code`) and the JSON name (`inlineCode`) of every
/// field, so rules compare `proto_field(key)` with the snake_case name and match both.
pub fn proto_field(key: &str) -> Cow<'_, str> {
    if !key.bytes().any(|b| b.is_ascii_uppercase()) {
        return Cow::Borrowed(key);
    }
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The value of protobuf field `field` (its snake_case name) of a map node, spelled either way.
pub fn proto_get<'n>(node: &'n Node, field: &str) -> Option<&'n Node> {
    node.as_map()?
        .iter()
        .find(|e| proto_field(e.key.as_str()) == field)
        .map(|e| &e.value)
}

/// Parses `data.<key>` of a ConfigMap object; `None` when absent or unreadable (ingest has
/// already read the ConfigMap itself).
pub fn embedded_document(object: &Object, key: &str) -> Option<Embedded> {
    let entry = object.node.get("data")?.entry(key)?;
    let text = entry.value.as_str()?;
    // A block scalar's text starts on the line after its key, indented under it.
    let block = entry.value.line > entry.key_line || text.contains('\n');
    let (first_line, column_offset) = if block {
        (entry.key_line + 1, entry.key_column + 1)
    } else {
        (entry.key_line, entry.value.column.saturating_sub(1))
    };
    let (docs, _errors) = meshaudit_ingest::yaml::parse_documents(text, first_line);
    let root = docs.into_iter().find_map(|d| d.root)?;
    Some(Embedded {
        root,
        column_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_fields_match_in_either_spelling() {
        assert_eq!(proto_field("inlineCode"), "inline_code");
        assert_eq!(proto_field("inline_code"), "inline_code");
        assert_eq!(
            proto_field("requestHeadersToRemove"),
            "request_headers_to_remove"
        );
        assert_eq!(proto_field("@type"), "@type");
        let doc = meshaudit_ingest::yaml::parse_documents("extensionProviders: []\n", 1)
            .0
            .into_iter()
            .find_map(|d| d.root)
            .unwrap();
        assert!(proto_get(&doc, "extension_providers").is_some());
        assert!(proto_get(&doc, "default_config").is_none());
    }
}
